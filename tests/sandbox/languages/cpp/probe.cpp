// Prints what the catalogue's version says: compiler and C++ standard.
#include <cstdio>

int main()
{
    int std = __cplusplus == 202002L ? 20 : __cplusplus == 201703L ? 17 : 0;
    std::printf("g++ %d.%d.%d (GNU C++%d)\n", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__, std);
}
