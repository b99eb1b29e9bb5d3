kvs_PKGS := libcurl
