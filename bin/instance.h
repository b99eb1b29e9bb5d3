/* Running instances of `vpipe run`, for `vpipe reload`: each writes
 * RUNTIME/PID.pid holding the absolute path of its graph file, where
 * RUNTIME is $XDG_RUNTIME_DIR/vpipe, or /run/vpipe when XDG_RUNTIME_DIR is
 * unset (a service), and removes it when it ends. */
#ifndef VPIPE_BIN_INSTANCE_H
#define VPIPE_BIN_INSTANCE_H

/* Write this process's file; a failure is logged and not fatal. */
void instance_register(const char *graph_file);
void instance_unregister(void);

/* vpipe reload [PID|GRAPH.ini]: send SIGHUP to the instance. */
int reload_main(int argc, char **argv);
#endif
