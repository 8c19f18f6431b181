fn main() {
    println!("{}", undeclared_variable);
}
