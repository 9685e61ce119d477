# mk/install.mk — `make install` and `make deb` (included from Makefile).
#
#   make install [PREFIX=/usr/local] [DESTDIR=]   programs, systemd units, man pages,
#                                                 example config, docs
#   make deb [DEB_VERSION=V]                      the Debian package, built by
#                                                 dpkg-buildpackage from a copy of the
#                                                 tree in $(BUILD)/deb (.deb lands there)
#   make programs                                 only what install needs
#
# PREFIX=/usr (what debian/rules uses) puts configuration under /etc and the
# units under /lib/systemd/system; any other PREFIX keeps everything below it.
# The units name their paths through @SBINDIR@, @SYSCONFDIR@ and @LIBEXECDIR@,
# filled in here. Two units: rtvd.service (the agent) and rtvdp.service (the
# dataplane process, upgraded in place by `systemctl reload rtvdp`, which runs
# LIBEXECDIR/rtvdp-takeover).

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
SBINDIR    ?= $(PREFIX)/sbin
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
UNITDIR    ?= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,$(PREFIX)/lib/systemd/system)
LIBEXECDIR ?= $(PREFIX)/libexec/rtvnet
MANDIR     ?= $(PREFIX)/share/man
DOCDIR     ?= $(PREFIX)/share/doc/rtvnet
INSTALL    ?= install

RTV_VERSION := $(shell grep -rhs '^#define RTVD_VERSION' agent | sed 's/.*"\(.*\)"/\1/' | head -1)
INSTALL_PROGS := $(BUILD)/bin/rtvd $(BUILD)/bin/rtvdp $(BUILD)/bin/rtvctl
INSTALL_MANS  := $(BUILD)/man/rtvd.8 $(BUILD)/man/rtvdp.8 $(BUILD)/man/rtvctl.1
SUBST_PATHS    = sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
		 -e 's|@LIBEXECDIR@|$(LIBEXECDIR)|g'
INSTALL_UNITS := $(wildcard deploy/systemd/*.service)

.PHONY: programs install uninstall deb

programs: $(INSTALL_PROGS)

# man pages from each program's --help (help2man), so they never disagree
$(BUILD)/man/rtvd.8: $(BUILD)/bin/rtvd
	@mkdir -p $(dir $@)
	help2man --no-info --section=8 --name="rtvnet agent" --version-string=$(RTV_VERSION) \
		--output=$@ $<
$(BUILD)/man/rtvdp.8: $(BUILD)/bin/rtvdp
	@mkdir -p $(dir $@)
	help2man --no-info --section=8 --name="rtvnet dataplane process" \
		--version-string=$(RTV_VERSION) --output=$@ $<
$(BUILD)/man/rtvctl.1: $(BUILD)/bin/rtvctl
	@mkdir -p $(dir $@)
	help2man --no-info --section=1 --name="reserve deadline-guaranteed paths between VMs" \
		--version-string=$(RTV_VERSION) --output=$@ $<

install: $(INSTALL_PROGS) $(INSTALL_MANS)
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DOCDIR)/examples \
		$(DESTDIR)$(SYSCONFDIR)/rtvnet $(DESTDIR)$(LIBEXECDIR)
	$(INSTALL) -m 0755 $(BUILD)/bin/rtvd $(DESTDIR)$(SBINDIR)/rtvd
	$(INSTALL) -m 0755 $(BUILD)/bin/rtvdp $(DESTDIR)$(SBINDIR)/rtvdp
	$(SUBST_PATHS) deploy/systemd/rtvdp-takeover >$(DESTDIR)$(LIBEXECDIR)/rtvdp-takeover
	chmod 0755 $(DESTDIR)$(LIBEXECDIR)/rtvdp-takeover
	$(INSTALL) -m 0755 $(BUILD)/bin/rtvctl $(DESTDIR)$(BINDIR)/rtvctl
	$(INSTALL) -m 0755 pki/rtv-pki.sh $(DESTDIR)$(LIBEXECDIR)/rtv-pki.sh
	$(INSTALL) -m 0644 $(BUILD)/man/rtvd.8 $(DESTDIR)$(MANDIR)/man8/rtvd.8
	$(INSTALL) -m 0644 $(BUILD)/man/rtvdp.8 $(DESTDIR)$(MANDIR)/man8/rtvdp.8
	$(INSTALL) -m 0644 $(BUILD)/man/rtvctl.1 $(DESTDIR)$(MANDIR)/man1/rtvctl.1
	for u in $(INSTALL_UNITS); do \
		$(SUBST_PATHS) $$u >$(DESTDIR)$(UNITDIR)/$$(basename $$u) && \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$$(basename $$u) || exit 1; \
	done
	$(INSTALL) -m 0644 deploy/rtvd.conf.example $(DESTDIR)$(DOCDIR)/examples/rtvd.conf.example
	$(INSTALL) -m 0644 README.md docs/rtvctl.md docs/metrics.md docs/deploy.md docs/dataplane-process.md $(DESTDIR)$(DOCDIR)/

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/rtvd $(DESTDIR)$(SBINDIR)/rtvdp $(DESTDIR)$(BINDIR)/rtvctl \
		$(DESTDIR)$(MANDIR)/man8/rtvd.8 $(DESTDIR)$(MANDIR)/man8/rtvdp.8 \
		$(DESTDIR)$(MANDIR)/man1/rtvctl.1 $(DESTDIR)$(LIBEXECDIR)/rtvdp-takeover \
		$(DESTDIR)$(LIBEXECDIR)/rtv-pki.sh \
		$(addprefix $(DESTDIR)$(UNITDIR)/,$(notdir $(INSTALL_UNITS)))
	rm -rf $(DESTDIR)$(DOCDIR)
	-rmdir $(DESTDIR)$(LIBEXECDIR)

# The package is built from a copy of the tracked and new (not ignored) files,
# so the tree's own build/ is never packaged and dpkg-buildpackage's outputs
# (written to the parent of the source folder) stay in $(BUILD)/deb.
# DEB_VERSION replaces the changelog's version in the copy (an upgrade test's
# rebuilt package).
DEB_VERSION ?=
DEB_SRC := $(BUILD)/deb/rtvnet-src
# The copy's debian/build (objects) is kept between runs: tar keeps the
# sources' times, so a rebuild of the same tree compiles nothing.
deb:
	@mkdir -p $(DEB_SRC)/debian
	@find $(DEB_SRC) -mindepth 1 -maxdepth 1 ! -name debian -exec rm -rf {} +
	@find $(DEB_SRC)/debian -mindepth 1 -maxdepth 1 ! -name build -exec rm -rf {} +
	git ls-files -z --cached --others --exclude-standard | \
		tar -c --null -T - --ignore-failed-read -f - 2>/dev/null | tar -x -C $(DEB_SRC)
	if [ -n "$(DEB_VERSION)" ]; then sed -i '1s/^rtvnet ([^)]*)/rtvnet ($(DEB_VERSION))/' $(DEB_SRC)/debian/changelog; fi
	cd $(DEB_SRC) && DEB_BUILD_OPTIONS="nocheck parallel=$$(nproc)" \
		dpkg-buildpackage -b -us -uc --no-pre-clean >../build.log 2>&1 || \
		{ tail -n 30 ../build.log; echo "deb: dpkg-buildpackage failed; log: $(BUILD)/deb/build.log" >&2; exit 1; }
	@ls -1 $(BUILD)/deb/rtvnet_*.deb

# `make bench BENCH=deploy`: the deployment figures come from the long
# deployment test (tests/long/deploy.sh), a shell script; the bench runner
# runs build/bench/bench_*, so it gets a wrapper there.
$(BUILD)/bench/bench_deploy: tests/long/deploy.sh
	@mkdir -p $(dir $@)
	printf '#!/bin/sh\nexec "%s/tests/long/deploy.sh" "$$@"\n' "$(CURDIR)" >$@
	chmod +x $@
build: $(BUILD)/bench/bench_deploy
