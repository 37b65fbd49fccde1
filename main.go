// Command infertrace is a terminal debugger for LLM inference.
package main

import (
	"os"

	"github.com/infertrace/infertrace/cli"
)

func main() {
	os.Exit(cli.Execute(os.Args[1:], os.Stdout, os.Stderr))
}
