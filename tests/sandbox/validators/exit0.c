/* An output validator that exits 0: the custom checker's "accepted", but
 * not the package format's (42): a judge error. */
int main(void) { return 0; }
