# SPDX-License-Identifier: MIT
# mk/cmake.mk -- CMake package files: `make install` puts
# $(LIBDIR)/cmake/lelp/lelpConfig.cmake and lelpConfigVersion.cmake there, with
# the imported targets lelp::lelp (shared) and lelp::lelp_static (static, with
# its BLAS/LAPACK link line), for find_package(lelp 0.1 CONFIG REQUIRED).
# Tested by tests/check_install.sh (a consumer built against a scratch prefix).
CMAKEDIR ?= $(LIBDIR)/cmake/lelp
INSTALL_HOOKS += install-cmake
UNINSTALL_HOOKS += uninstall-cmake
.PHONY: install-cmake uninstall-cmake

# -L dirs and the rest of the static link line, as CMake lists
cmake-static-dirs = $(subst $(eval) ,;,$(strip $(patsubst -L%,%,$(filter -L%,$(LELP_STATIC_LIBS)))))
cmake-static-libs = $(subst $(eval) ,;,$(strip $(filter-out -L%,$(LELP_STATIC_LIBS))))
CMAKE_SUBST = -e 's|@VERSION@|$(VERSION)|g' -e 's|@VERSION_MAJOR@|$(VERSION_MAJOR)|g' \
  -e 's|@VERSION_MINOR@|$(VERSION_MINOR)|g' \
  -e 's|@CMAKEDIR_TO_PREFIX@|$(shell realpath -m --relative-to=$(CMAKEDIR) $(PREFIX))|g' \
  -e 's|@LIBDIR_REL@|$(shell realpath -m --relative-to=$(PREFIX) $(LIBDIR))|g' \
  -e 's|@INCLUDEDIR_REL@|$(shell realpath -m --relative-to=$(PREFIX) $(INCLUDEDIR))|g' \
  -e 's|@STATIC_LINK_DIRS@|$(cmake-static-dirs)|g' -e 's|@STATIC_LINK_LIBS@|$(cmake-static-libs)|g' \
  -e 's|@SIZEOF_VOID_P@|$(shell $(CC) -dM -E -x c /dev/null | sed -n 's/^\#define __SIZEOF_POINTER__ //p')|g'

# Regenerated on every install (paths depend on PREFIX/LIBDIR/INCLUDEDIR).
$(BUILD)/cmake/%.cmake: cmake/%.cmake.in FORCE
	@mkdir -p $(dir $@)
	@sed $(CMAKE_SUBST) $< > $@

install-cmake: $(BUILD)/cmake/lelpConfig.cmake $(BUILD)/cmake/lelpConfigVersion.cmake
	install -d $(DESTDIR)$(CMAKEDIR)
	install -m 644 $^ $(DESTDIR)$(CMAKEDIR)/

uninstall-cmake:
	rm -f $(DESTDIR)$(CMAKEDIR)/lelpConfig.cmake $(DESTDIR)$(CMAKEDIR)/lelpConfigVersion.cmake
	-rmdir $(DESTDIR)$(CMAKEDIR) 2>/dev/null
