libcamera_PKGS := libcamera
