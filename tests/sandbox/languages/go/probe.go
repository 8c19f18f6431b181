// Prints what the catalogue's version says (go1.19.8 -> "go 1.19").
package main

import (
	"fmt"
	"runtime"
	"strings"
)

func main() {
	v := strings.Split(strings.TrimPrefix(runtime.Version(), "go"), ".")
	fmt.Printf("go %s.%s\n", v[0], v[1])
}
