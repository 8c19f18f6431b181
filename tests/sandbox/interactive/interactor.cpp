// The guessing game's interactor in C++ (most packages' interactors are),
// its helpers in game.h: the same rules as interactor.py, and validator_flags
// "guesses N" to change the number of guesses allowed.
#include "game.h"

int main(int argc, char **argv) {
    if (argc < 4)
        return 2;
    Game g(argv[1], argv[3]);
    int allowed = 10;
    for (int i = 4; i + 1 < argc; i++)
        if (std::string(argv[i]) == "guesses")
            allowed = std::stoi(argv[i + 1]);
    for (int n = 1; n <= allowed; n++) {
        long guess;
        if (!(std::cin >> guess))
            return g.wrong("the program stopped after " + std::to_string(n - 1) + " guesses",
                           "no guess");
        if (guess == g.secret) {
            std::cout << "correct" << std::endl;
            return g.accept("guessed in " + std::to_string(n));
        }
        std::cout << (g.secret < guess ? "lower" : "higher") << std::endl;
    }
    return g.wrong("no more guesses after " + std::to_string(allowed), "too many guesses");
}
