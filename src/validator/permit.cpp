#include "validator/permit.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <new>
#include <utility>

namespace em::validator {

namespace {

constexpr size_t page_bytes = 4096;
static_assert(sizeof(PermitPage) <= page_bytes);

Result<void*> map(int fd, bool writable, const char* what) {
    void* p = ::mmap(nullptr, page_bytes, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED,
                     fd, 0);
    if (p == MAP_FAILED) return Unexpected(Error::sys(errno, what));
    return p;
}

/// Sizes a new page and writes its header, revoked.
Result<PermitPage*> init_page(int fd, const std::string& what) {
    if (::ftruncate(fd, page_bytes) != 0) return Unexpected(Error::sys(errno, "size " + what));
    void* p = EM_TRY(map(fd, true, what.c_str()));
    auto* page = static_cast<PermitPage*>(p);
    page->magic = PermitPage::magic_value;
    page->version = 1;
    page->deadline_ns.store(0, std::memory_order_release);
    page->epoch.store(0, std::memory_order_relaxed);
    page->grants.store(0, std::memory_order_relaxed);
    return page;
}

/// Maps an existing page read-only and checks its header.
Result<PermitPage*> check_page(int fd, const std::string& what) {
    struct stat st;
    if (::fstat(fd, &st) != 0) return Unexpected(Error::sys(errno, "stat " + what));
    if (st.st_size < static_cast<off_t>(page_bytes)) {
        return failf(Errc::invalid_input, "%s is not a permit page (%lld bytes)", what.c_str(),
                     static_cast<long long>(st.st_size));
    }
    void* p = EM_TRY(map(fd, false, what.c_str()));
    auto* page = static_cast<PermitPage*>(p);
    if (page->magic != PermitPage::magic_value || page->version != 1) {
        ::munmap(p, page_bytes);
        return failf(Errc::invalid_input, "%s is not a version-1 permit page", what.c_str());
    }
    return page;
}

}  // namespace

PermitMapping::PermitMapping(PermitMapping&& other) noexcept
    : page_(std::exchange(other.page_, nullptr)), fd_(std::exchange(other.fd_, -1)) {}

PermitMapping& PermitMapping::operator=(PermitMapping&& other) noexcept {
    if (this != &other) {
        this->~PermitMapping();
        page_ = std::exchange(other.page_, nullptr);
        fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
}

PermitMapping::~PermitMapping() {
    if (page_ != nullptr) ::munmap(page_, page_bytes);
    if (fd_ >= 0) ::close(fd_);
    page_ = nullptr;
    fd_ = -1;
}

Result<PermitWriter> PermitWriter::create_anonymous() {
    PermitWriter w;
    w.fd_ = ::memfd_create("enginemux-permit", MFD_CLOEXEC);
    if (w.fd_ < 0) return Unexpected(Error::sys(errno, "memfd_create (validator permit)"));
    w.page_ = EM_TRY(init_page(w.fd_, "validator permit"));
    return w;
}

Result<PermitWriter> PermitWriter::open_file(const std::string& path) {
    PermitWriter w;
    w.fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0640);
    if (w.fd_ < 0) return Unexpected(Error::sys(errno, "open permit_file " + path));
    w.page_ = EM_TRY(init_page(w.fd_, "permit_file " + path));
    return w;
}

void PermitWriter::grant_until(uint64_t deadline_ns, uint64_t epoch) {
    page_->epoch.store(epoch, std::memory_order_relaxed);
    page_->grants.fetch_add(1, std::memory_order_relaxed);
    page_->deadline_ns.store(deadline_ns, std::memory_order_release);
}

void PermitWriter::revoke() {
    page_->deadline_ns.store(0, std::memory_order_release);
}

Result<PermitReader> PermitReader::from_fd(int fd) {
    PermitReader r;
    r.fd_ = fd;
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    r.page_ = EM_TRY(check_page(fd, "permit descriptor " + std::to_string(fd)));
    return r;
}

Result<PermitReader> PermitReader::open_file(const std::string& path) {
    PermitReader r;
    r.fd_ = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (r.fd_ < 0) return Unexpected(Error::sys(errno, "open permit " + path));
    r.page_ = EM_TRY(check_page(r.fd_, "permit " + path));
    return r;
}

}  // namespace em::validator
