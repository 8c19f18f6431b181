fun main() {
    println(undeclaredVariable)
}
