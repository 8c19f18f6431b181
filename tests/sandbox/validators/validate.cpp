// An output validator of the problem package format in two files (the
// helpers in check.h, as packages ship testlib-like headers): the team's
// number must equal the answer's.
#include "check.h"

int main(int argc, char **argv) {
    if (argc < 4)
        return 2;
    std::ifstream ans(argv[2]);
    long want = 0;
    ans >> want;
    long got = 0;
    if (!(std::cin >> got))
        return wrong_answer(argv[3], "not a number");
    if (got != want)
        return wrong_answer(argv[3], "expected " + std::to_string(want) + ", got " +
                                         std::to_string(got));
    std::string extra;
    if (std::cin >> extra)
        return wrong_answer(argv[3], "trailing output");
    return accepted();
}
