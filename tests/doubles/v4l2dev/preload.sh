# Sourced by the e2e tests that run on the V4L2 device double. Sets
# V4L2DEV_PRELOAD for LD_PRELOAD: the double, behind the sanitizer runtime
# when the build is sanitized (ASan insists on being first in the list).
V4L2DEV_SO="$VPIPE_TOP/$BUILD/tests/v4l2dev.so"
[ -f "$V4L2DEV_SO" ] || fail "missing $V4L2DEV_SO (make $BUILD/tests/v4l2dev.so)"
V4L2DEV_PRELOAD="$V4L2DEV_SO"
case "${VPIPE_SANITIZER:-}" in
asan) V4L2DEV_PRELOAD="$(cc -print-file-name=libasan.so) $(cc -print-file-name=libubsan.so) $V4L2DEV_SO" ;;
tsan) V4L2DEV_PRELOAD="$(cc -print-file-name=libtsan.so) $V4L2DEV_SO" ;;
esac
export V4L2DEV_PRELOAD
