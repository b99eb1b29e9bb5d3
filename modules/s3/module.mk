s3_PKGS := libcurl
