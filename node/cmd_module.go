package node

// MODULE, for enable-module-command. Skiff loads no modules (they are
// Redis's C ABI), so LIST is empty and LOAD fails as a failed load does in
// Redis; what matters is that the protected subcommands are refused with
// Redis's text unless enable-module-command allows them (protected.go).
func init() {
	register(&Command{Name: "module", Arity: -2, Group: "server", Since: "4.0.0", Summary: "A container for module commands", Complexity: "Depends on subcommand."})
	registerSub("module",
		&Command{Name: "help", Arity: 2, Flags: "loading stale", Group: "server", Since: "5.0.0", Summary: "Show helpful text about the different subcommands", Complexity: "O(1)", Handler: cmdModuleHelp},
		&Command{Name: "list", Arity: 2, Flags: "admin noscript", Group: "server", Since: "4.0.0", Summary: "List all modules loaded by the server", Complexity: "O(N) where N is the number of loaded modules.", Handler: cmdModuleList},
		&Command{Name: "load", Arity: -3, Flags: "no_async_loading admin noscript protected", Group: "server", Since: "4.0.0", Summary: "Load a module", Complexity: "O(1)", Handler: cmdModuleLoad},
		&Command{Name: "loadex", Arity: -3, Flags: "no_async_loading admin noscript protected", Group: "server", Since: "7.0.0", Summary: "Load a module with extended parameters", Complexity: "O(1)", Handler: cmdModuleLoad},
		&Command{Name: "unload", Arity: 3, Flags: "no_async_loading admin noscript protected", Group: "server", Since: "4.0.0", Summary: "Unload a module", Complexity: "O(1)", Handler: cmdModuleUnload},
	)
}

func cmdModuleHelp(c *Client, args [][]byte) {
	c.replyHelp([]string{
		"LIST",
		"    Return a list of loaded modules.",
		"LOAD <path> [<arg> ...]",
		"    Load a module library from <path>, passing to it any optional arguments.",
		"LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
		"    Load a module library from <path>, while passing it module configurations and optional arguments.",
		"UNLOAD <name>",
		"    Unload a module.",
	})
}

func cmdModuleList(c *Client, args [][]byte) { c.w.AppendArray(0) }

func cmdModuleLoad(c *Client, args [][]byte) {
	c.srv.log.Warn("Module " + string(args[2]) + " failed to load: Skiff does not load Redis modules")
	c.replyError("ERR Error loading the extension. Please check the server logs.")
}

func cmdModuleUnload(c *Client, args [][]byte) {
	c.replyError("ERR Error unloading module: no such module with that name")
}
