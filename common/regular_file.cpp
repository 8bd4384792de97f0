#include "common/regular_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mho {

std::string read_regular_file(const std::string& path, std::size_t max_bytes, const std::string& what) {
  auto fail = [&](const std::string& problem) { throw std::invalid_argument(what + " " + path + ": " + problem); };
  // O_NONBLOCK: opening a FIFO must not wait for a writer. The type is checked on the open
  // descriptor, so the file checked is the file read.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    const int e = errno;
    if (e == ENOENT || e == ENOTDIR) throw RegularFileMissing(what + " not found: " + path);
    fail(std::string("cannot be opened: ") + std::strerror(e));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail(std::string("cannot be examined: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) fail("is not a regular file (a directory, FIFO or device)");
  if (std::size_t(st.st_size) > max_bytes)
    fail(std::to_string(st.st_size) + " bytes: larger than the " + std::to_string(max_bytes) + " bytes allowed for a " + what);
  std::string bytes(std::size_t(st.st_size), '\0');
  std::size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t r = ::read(fd, &bytes[got], bytes.size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) fail(std::string("cannot be read: ") + std::strerror(errno));
    if (r == 0) fail("became shorter while it was read");
    got += std::size_t(r);
  }
  char extra;
  if (::read(fd, &extra, 1) > 0) fail("grew while it was read");
  return bytes;
}

}  // namespace mho
