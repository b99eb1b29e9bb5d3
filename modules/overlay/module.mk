overlay_PKGS := freetype2
