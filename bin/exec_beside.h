/* Run a program installed beside the vpipe binary (vpipe-kvs-local). */
#ifndef VPIPE_BIN_EXEC_BESIDE_H
#define VPIPE_BIN_EXEC_BESIDE_H

/* Replaces this process with PROGRAM from the directory of the running
 * vpipe binary, passing args (args[0] becomes PROGRAM). Returns only on
 * failure, with the exit status after printing why. */
int exec_beside(const char *program, char **args);

#endif
