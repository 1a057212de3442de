// Version and commit of this build, generated at build time (vcs_tag in src/base/meson.build) so
// a new commit recompiles one file, not the tree.
//
// Any thread; constant strings.
#pragma once

namespace em {

/// "0.1.0+g1a2b3c4" (git describe) or the VERSION file's text.
const char* version();
/// Short commit hash, or "unknown" outside a git checkout.
const char* git_commit();

}  // namespace em
