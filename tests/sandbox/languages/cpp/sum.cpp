#include <iostream>
#include <numeric>
#include <vector>

int main()
{
    std::vector<long long> v(2);
    if (!(std::cin >> v[0] >> v[1]))
        return 1;
    std::cout << std::accumulate(v.begin(), v.end(), 0LL) << '\n';
}
