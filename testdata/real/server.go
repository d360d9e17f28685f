// server: a Go HTTP server for tests/real.rs (a static, ET_EXEC binary with the Go
// runtime's own memory: goroutine stacks, arenas). It listens on 127.0.0.1 (a port
// the kernel picks), prints "PORT <n>" and "READY", serves /, and exits when its
// standard input ends.
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
)

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	go func() {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("elfmaps ", 1<<12))
	})
	fmt.Printf("PORT %d\nREADY\n", ln.Addr().(*net.TCPAddr).Port)
	http.Serve(ln, nil)
}
