fun main() {
    println("Kotlin ${KotlinVersion.CURRENT} (JVM ${Runtime.version().feature()})")
}
