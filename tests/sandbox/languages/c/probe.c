/* Prints what the catalogue's version says: compiler and C standard. */
#include <stdio.h>

int main(void)
{
    int std = __STDC_VERSION__ == 201710L ? 17 : __STDC_VERSION__ == 201112L ? 11 : 0;
    printf("gcc %d.%d.%d (GNU C%d)\n", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__, std);
    return 0;
}
