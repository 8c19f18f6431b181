// Helpers of interactor.cpp: the secret, the exit codes and feedback files of
// the problem package format.
#include <fstream>
#include <iostream>
#include <string>

struct Game {
    long secret = 0;
    std::string feedback;
    Game(const char *input, const char *feedback_dir) : feedback(feedback_dir) {
        std::ifstream(input) >> secret;
    }
    int accept(const std::string &judge) {
        std::ofstream(feedback + "judgemessage.txt") << judge << "\n";
        return 42;
    }
    int wrong(const std::string &judge, const std::string &team) {
        std::ofstream(feedback + "judgemessage.txt") << judge << "\n";
        std::ofstream(feedback + "teammessage.txt") << team << "\n";
        return 43;
    }
};
