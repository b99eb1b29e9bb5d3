/* rpicam-apps' options as libcamera controls, against the real libcamera
 * library and no camera: the cases are C++ (lc_controls_cases.cc), since
 * they build the ControlInfoMap a camera would report. */
#include <stdio.h>

#ifdef HAVE_LIBCAMERA
int lc_controls_cases(void);
#endif

int main(void)
{
#ifdef HAVE_LIBCAMERA
	return lc_controls_cases();
#else
	printf("skip: built without libcamera (pkg-config libcamera)\n");
	return 77;
#endif
}
