image_PKGS := libturbojpeg libpng libavcodec libswscale libavutil
