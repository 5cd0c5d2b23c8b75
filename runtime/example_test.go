package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/wahost/wahost/runtime"
)

// A host loads a module, makes it the slot's current generation and asks it
// for decisions, falling back to its own policy when the module fails.
func Example() {
	ctx := context.Background()
	engine, err := runtime.NewEngine(ctx, runtime.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	defer engine.Close(ctx)

	wasm, err := os.ReadFile("testdata/echo.wasm")
	if err != nil {
		panic(err)
	}
	input := []byte(`{"v":1,"reason":"example"}`)
	mod, err := engine.Load(ctx, "echo", wasm, runtime.LoadOptions{SelfTestInput: input})
	if err != nil {
		panic(err) // a *runtime.LoadError naming the failed stage
	}

	slot := runtime.NewSlot(runtime.SlotConfig{
		Logger:  slog.New(slog.DiscardHandler),
		OnEvent: func(ev runtime.Event) { fmt.Println("event:", ev.Kind, ev.Module.Name) },
	})
	defer slot.Close(ctx)
	if _, err := slot.Swap(mod); err != nil {
		panic(err)
	}

	decide := func(input []byte) string {
		out, err := slot.Decide(ctx, input)
		if f, ok := errors.AsType[*runtime.Fault](err); ok {
			return "fallback after " + string(f.Kind)
		}
		return string(out)
	}
	fmt.Println(decide(input))
	fmt.Println(decide([]byte("T"))) // the echo module traps on "T"
	// Output:
	// event: swap echo
	// {"v":1,"reason":"example"}
	// fallback after trap
	// event: closed echo
}
