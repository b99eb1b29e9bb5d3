/* `vpipe probe [DEVICE...]`: what a V4L2 device offers (capabilities,
 * formats with their sizes and frame rates, controls), and the INI lines
 * for the v4l2 or v4l2m2m module that would use it. */
#ifndef VPIPE_BIN_PROBE_H
#define VPIPE_BIN_PROBE_H

/* argv[0] is "probe"; argv[1..] device paths (none: every /dev/video*).
 * Returns 0 when every device could be probed, 1 otherwise, 2 on usage. */
int probe_main(int argc, char **argv);

/* `vpipe probe --libcamera`: cameras, sensor modes, formats and controls
 * as the libcamera module sees them. 0, or 1 when there is none. */
int probe_libcamera(void);

#endif
