// A model file that changes after loading. loci maps the file, so:
// - deleting it, or replacing it by rename, leaves the loaded model working
//   on the old bytes (the mapping holds the old inode);
// - shrinking it takes pages away from the mapping (SIGBUS on access, even
//   for pages already read), and rewriting it in place changes what the
//   model computes. loci checks the file (fstat on the descriptor it keeps)
//   at every eval, so the next call is LOCI_ERR_IO. These run in a child
//   process, so a SIGBUS fails the test rather than killing it.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>

#include "capi/capi_util.h"

using namespace capit;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// A private copy of a shared model in the temporary directory.
struct TempModel {
  std::string path;
  size_t size = 0;
  explicit TempModel(const char* file = "stories260K.gguf") {
    const char* dir = std::getenv("TMPDIR");
    std::string tmpl = std::string(dir && *dir ? dir : "/tmp") + "/loci-model-XXXXXX";
    const int fd = ::mkstemp(tmpl.data());
    REQUIRE(fd >= 0);
    path = tmpl;
    const std::string bytes = read_file(shared_model(file));
    size = bytes.size();
    REQUIRE(::write(fd, bytes.data(), bytes.size()) == ssize_t(bytes.size()));
    ::close(fd);
  }
  ~TempModel() { ::unlink(path.c_str()); }
};

// The logits after the test tokens, from a new session on `m`.
std::vector<float> logits_after_tokens(const loci_model* m) {
  auto s = make_session(m);
  const loci_status st = loci_session_eval(s.get(), tokens8().data(), tokens8().size());
  INFO(loci_last_error());
  REQUIRE(st == LOCI_OK);
  return logits_of(s.get());
}

// What a child process did: its report line, or the signal that killed it.
struct ChildResult {
  int signal = 0;
  std::string report;
};

// Runs `body` in a child; a crash there cannot take the test down.
ChildResult in_child(const std::function<std::string()>& body) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    std::string line;
    try {
      line = body();
    } catch (...) {
      line = "exception";
    }
    ssize_t ignored = ::write(fds[1], line.data(), line.size());
    (void)ignored;
    ::_exit(0);
  }
  ::close(fds[1]);
  ChildResult r;
  char buf[256];
  ssize_t got;
  while ((got = ::read(fds[0], buf, sizeof buf)) > 0) r.report.append(buf, size_t(got));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  return r;
}

std::string describe(const ChildResult& r) {
  if (r.signal) return "killed by signal " + std::to_string(r.signal) + " (" + strsignal(r.signal) + ")";
  return r.report;
}

std::string status_name(loci_status st) { return loci_status_string(st); }


std::vector<float> reference_logits() {
  auto ref_model = load();
  return logits_after_tokens(ref_model.get());
}

ModelPtr load_path(const std::string& path) {
  loci_model* m = nullptr;
  REQUIRE(loci_model_load(path.c_str(), nullptr, &m) == LOCI_OK);
  return ModelPtr(m);
}

}  // namespace

TEST_CASE("a deleted model file keeps working", "[limits][files]") {
  const std::vector<float> ref = reference_logits();
  TempModel tmp;
  ModelPtr model = load_path(tmp.path);
  auto before = make_session(model.get());
  REQUIRE(::unlink(tmp.path.c_str()) == 0);
  // A session made before the delete and one made after both compute as before.
  REQUIRE(loci_session_eval(before.get(), tokens8().data(), tokens8().size()) == LOCI_OK);
  CHECK(same_bits(ref, loci_session_logits(before.get())));
  CHECK(logits_after_tokens(model.get()) == ref);
  // The path itself is gone.
  loci_model* again = nullptr;
  CHECK(loci_model_load(tmp.path.c_str(), nullptr, &again) == LOCI_ERR_IO);
  CHECK(again == nullptr);
}

TEST_CASE("a model file replaced by rename keeps serving the loaded weights", "[limits][files]") {
  const std::vector<float> ref = reference_logits();
  TempModel tmp;
  ModelPtr model = load_path(tmp.path);
  // The safe way to update a model: write a new file, rename it over the old.
  TempModel other("stories260K-q8_0.gguf");
  REQUIRE(::rename(other.path.c_str(), tmp.path.c_str()) == 0);
  CHECK(logits_after_tokens(model.get()) == ref);
  // A new load sees the new file.
  ModelPtr fresh = load_path(tmp.path);
  loci_model_info info;
  loci_model_info_init(&info);
  REQUIRE(loci_model_get_info(fresh.get(), &info) == LOCI_OK);
  CHECK(info.file_size == other.size);
}

TEST_CASE("a model file that shrinks after loading makes the next eval fail with LOCI_ERR_IO", "[limits][files]") {
  struct Case {
    const char* what;
    bool eval_first;  // pages already read before the shrink
    double keep;      // fraction of the file left
  };
  const Case cases[] = {
      {"cut to half after an eval", true, 0.5},
      {"cut to half before any eval", false, 0.5},
      {"cut to zero after an eval", true, 0.0},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    TempModel tmp;
    const ChildResult r = in_child([&]() -> std::string {
      loci_model* m = nullptr;
      if (loci_model_load(tmp.path.c_str(), nullptr, &m) != LOCI_OK) return "load failed";
      const loci_session_params p = session_params();
      loci_session* s = nullptr;
      if (loci_session_create(m, &p, &s) != LOCI_OK) return "session create failed";
      if (c.eval_first && loci_session_eval(s, tokens8().data(), tokens8().size()) != LOCI_OK)
        return "the first eval failed";
      if (::truncate(tmp.path.c_str(), off_t(double(tmp.size) * c.keep)) != 0) return "truncate failed";
      loci_session_reset(s);
      const loci_status st = loci_session_eval(s, tokens8().data(), tokens8().size());
      return status_name(st) + (st == LOCI_OK ? "" : std::string(": ") + loci_last_error());
    });
    std::printf("model file %s: the next eval %s\n", c.what, describe(r).c_str());
    INFO("the next eval: " << describe(r));
    CHECK(r.signal == 0);
    CHECK(r.report.rfind("io_error", 0) == 0);
  }
}

TEST_CASE("a model file rewritten in place makes the next eval fail with LOCI_ERR_IO", "[limits][files]") {
  TempModel tmp;
  const ChildResult r = in_child([&]() -> std::string {
    loci_model* m = nullptr;
    if (loci_model_load(tmp.path.c_str(), nullptr, &m) != LOCI_OK) return "load failed";
    const std::vector<float> before = logits_after_tokens(m);
    // Overwrite the last 16 KiB (tensor data) with other bytes, same size.
    const int fd = ::open(tmp.path.c_str(), O_WRONLY);
    std::vector<uint8_t> junk(16384, 0x3c);
    const bool wrote = fd >= 0 && ::pwrite(fd, junk.data(), junk.size(), off_t(tmp.size - junk.size())) ==
                                      ssize_t(junk.size());
    if (fd >= 0) ::close(fd);
    if (!wrote) return std::string("pwrite failed");
    const loci_session_params p = session_params();
    loci_session* s = nullptr;
    if (loci_session_create(m, &p, &s) != LOCI_OK) return std::string("session create failed");
    const loci_status st = loci_session_eval(s, tokens8().data(), tokens8().size());
    if (st != LOCI_OK) return status_name(st) + ": " + loci_last_error();
    const float* after = loci_session_logits(s);
    const bool same = std::memcmp(before.data(), after, before.size() * sizeof(float)) == 0;
    return std::string("ok, logits ") + (same ? "unchanged" : "changed");
  });
  std::printf("model file rewritten in place (same size): the next eval %s\n", describe(r).c_str());
  INFO(describe(r));
  CHECK(r.signal == 0);
  CHECK(r.report.rfind("io_error", 0) == 0);
  CHECK(r.report.find("was modified after it was loaded") != std::string::npos);
}
