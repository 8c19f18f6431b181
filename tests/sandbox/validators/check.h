// Helpers of validate.cpp: the package format's exit codes and feedback files.
#include <fstream>
#include <iostream>
#include <string>

static int accepted() { return 42; }

static int wrong_answer(const char *feedback_dir, const std::string &why) {
    std::ofstream(std::string(feedback_dir) + "judgemessage.txt") << why << "\n";
    return 43;
}
