/* V4L2 device enumeration for the v4l2 and v4l2m2m modules and
 * `vpipe probe`: what a device offers (formats, sizes, frame rates,
 * controls), written out the way error messages and the probe print it.
 *
 * Every call takes an open device fd and returns 0 / a count, or -errno.
 * Nothing here keeps state. V4L2 fourccs for YUYV, NV12, YU12 (I420), MJPG
 * and H264 are the same numbers as VPIPE_FOURCC_*.
 */
#ifndef VPIPE_COMMON_V4L2UTIL_H
#define VPIPE_COMMON_V4L2UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ioctl with EINTR retried: 0 or -errno. */
int v4l2u_ioctl(int fd, unsigned long req, void *arg);

/* "YUYV"; printable even for odd codes ('.' for non-printing bytes). */
const char *v4l2u_fourcc_str(uint32_t fourcc, char buf[8]);

/* The effective capabilities (device_caps when the driver gives them). */
int v4l2u_caps(int fd, uint32_t *caps, char *card, size_t cardlen, char *driver,
	       size_t driverlen);

/* 1 when ENUM_FMT on `buftype` lists fourcc, 0 when not, -errno. */
int v4l2u_has_format(int fd, uint32_t buftype, uint32_t fourcc);

/* 1 offered, 0 not offered, -ENOTTY when the driver does not enumerate
 * sizes (or rates) for this format (the caller then trusts S_FMT/S_PARM). */
int v4l2u_size_offered(int fd, uint32_t fourcc, uint32_t w, uint32_t h);
int v4l2u_rate_offered(int fd, uint32_t fourcc, uint32_t w, uint32_t h,
		       double fps);

/* Human lists for messages, written into out (always NUL-terminated):
 *   formats: "YUYV (YUYV 4:2:2), MJPG (Motion-JPEG)"
 *   sizes:   "160x120, 320x240" or "32x32 to 1920x1088 in steps of 2x2"
 *   rates:   "30, 15 fps" or "1 to 60 fps" */
void v4l2u_list_formats(int fd, uint32_t buftype, char *out, size_t len);
void v4l2u_list_sizes(int fd, uint32_t fourcc, char *out, size_t len);
void v4l2u_list_rates(int fd, uint32_t fourcc, uint32_t w, uint32_t h,
		      char *out, size_t len);

/* Set an integer/boolean/menu/button control: 0, -EINVAL when the device
 * has no such control, -ERANGE when the value is outside its range (with
 * min/max reported), other -errno from the driver. */
int v4l2u_ctrl_set(int fd, uint32_t id, int32_t value, int32_t *min,
		   int32_t *max);
bool v4l2u_ctrl_exists(int fd, uint32_t id);

struct vpipe_node;
/* v4l2u_ctrl_set for a module's setting the device may lack or bound: a
 * refusal is a warning on `node` naming the device path, its card and
 * `what` ("bitrate"), and the setting is left to the device. Returns what
 * v4l2u_ctrl_set returned. */
int v4l2u_ctrl_set_or_warn(int fd, struct vpipe_node *node, const char *path,
			   const char *card, uint32_t id, int32_t value,
			   const char *what);

#endif
