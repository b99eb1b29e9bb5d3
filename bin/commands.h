/* The vpipe command's subcommands, for its usage text and its man page. */
#ifndef VPIPE_BIN_COMMANDS_H
#define VPIPE_BIN_COMMANDS_H

#include <stddef.h>

struct vpipe_command {
	const char *cmd, *args, *what;
};
extern const struct vpipe_command vpipe_commands[];
extern const size_t vpipe_n_commands;

/* `vpipe man vpipe|vpipe.ini [DATE]`: the man page in roff, built from the
 * command table and every loadable module's parameter table. */
int man_main(int argc, char **argv);
#endif
