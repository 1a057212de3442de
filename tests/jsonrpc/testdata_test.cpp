// The parsers against real Engine API traffic in ../shared/testdata: geth's 601-request
// newPayload batch, besu's request/response pairs and the captured CL<->EL calls. simdjson's DOM
// parser is the oracle. Skipped (exit 77) when the test data folder is missing.
#include <dirent.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <string>
#include <vector>

#include "common/testdata.h"
#include "jsonrpc/request.h"
#include "jsonrpc/response.h"
#include "padded.h"

namespace em::jsonrpc {
namespace {

using test::Padded;

std::vector<std::string> json_files(const std::string& dir) {
    std::vector<std::string> out;
    DIR* d = opendir(dir.c_str());
    if (!d) return out;
    while (dirent* e = readdir(d)) {
        std::string name = e->d_name;
        if (name.size() > 5 && name.ends_with(".json")) out.push_back(dir + "/" + name);
    }
    closedir(d);
    std::sort(out.begin(), out.end());
    return out;
}

std::string minify(std::string_view json) {
    simdjson::dom::parser parser;
    simdjson::padded_string padded(json);
    simdjson::dom::element e;
    EXPECT_EQ(parser.parse(padded).get(e), simdjson::SUCCESS) << json.substr(0, 80);
    return simdjson::minify(e);
}

// The original bytes of member `name` of the file's top-level object (empty if absent).
std::string raw_member(const std::string& file_text, const char* name) {
    simdjson::ondemand::parser parser;
    simdjson::padded_string padded(file_text);
    simdjson::ondemand::document doc;
    if (parser.iterate(padded).get(doc) != simdjson::SUCCESS) return {};
    simdjson::ondemand::object o;
    if (doc[name].get_object().get(o) != simdjson::SUCCESS) return {};
    std::string_view raw;
    if (o.raw_json().get(raw) != simdjson::SUCCESS) return {};
    return std::string(raw);
}

TEST(Testdata, GethNewPayloadBatch) {
    std::string text = test::read_file(test::testdata_path("engine/geth-ethtest/newpayload.json"));
    ASSERT_FALSE(text.empty());
    simdjson::dom::parser dom;
    simdjson::padded_string padded_text(text);
    simdjson::dom::array oracle;
    ASSERT_EQ(dom.parse(padded_text).get_array().get(oracle), simdjson::SUCCESS);

    RequestParser p(Limits{.batch_entries_max = 1024, .body_bytes_max = 8 << 20});
    Padded body(text);
    auto envelope = p.parse(body.data(), body.size(), body.capacity());
    ASSERT_TRUE(envelope.has_value()) << envelope.error().message();
    ASSERT_TRUE(envelope->batch);
    ASSERT_EQ(envelope->entries.size(), oracle.size());
    std::vector<std::string> params_text;
    for (size_t i = 0; i < oracle.size(); i++) {
        const Entry& e = envelope->entries[i];
        ASSERT_TRUE(e.ok) << i << ": " << e.error_message;
        simdjson::dom::element want = oracle.at(i);
        EXPECT_EQ(e.request.method, std::string_view(want["method"]));
        EXPECT_EQ(minify(e.request.id), simdjson::minify(want["id"]));
        EXPECT_EQ(minify(e.request.params), simdjson::minify(want["params"])) << i;
        EXPECT_EQ(minify(e.request.raw), simdjson::minify(want)) << i;
        EXPECT_TRUE(body.contains(e.request.raw));
    }
    // rewind_to_params reaches each element's params (sampled: it walks the batch from the start).
    for (size_t i = 0; i < oracle.size(); i += 37) {
        auto v = p.rewind_to_params(i);
        ASSERT_EQ(v.error(), simdjson::SUCCESS) << i;
        simdjson::ondemand::array params;
        ASSERT_EQ(v.get_array().get(params), simdjson::SUCCESS);
        std::string_view hash;
        for (auto payload : params) {
            ASSERT_EQ(payload["blockHash"].get_string().get(hash), simdjson::SUCCESS);
            break;
        }
        EXPECT_EQ(hash, std::string_view(oracle.at(i)["params"].at(0)["blockHash"])) << i;
    }
}

// Checks the request (and response, if any) of one {request, response} file; counts checked pairs.
void check_pair(RequestParser& requests, ResponseParser& responses, const std::string& path,
                size_t* checked) {
    SCOPED_TRACE(path);
    std::string text = test::read_file(path);
    std::string request = raw_member(text, "request");
    std::string response = raw_member(text, "response");
    if (request.empty()) return;  // not a request/response pair
    simdjson::dom::parser dom;
    simdjson::padded_string padded(text);
    simdjson::dom::element file;
    ASSERT_EQ(dom.parse(padded).get(file), simdjson::SUCCESS);

    Padded req(request);
    auto envelope = requests.parse(req.data(), req.size(), req.capacity());
    ASSERT_TRUE(envelope.has_value()) << envelope.error().message();
    const Entry& e = envelope->entries[0];
    ASSERT_TRUE(e.ok) << e.error_message;
    EXPECT_EQ(e.request.method, std::string_view(file["request"]["method"]));
    EXPECT_EQ(minify(e.request.params), simdjson::minify(file["request"]["params"]));
    if (response.empty()) return;
    ++*checked;
    Padded resp(response);
    auto r = responses.parse(resp.data(), resp.size(), resp.capacity());
    ASSERT_TRUE(r.has_value()) << r.error().message();
    EXPECT_TRUE(same_id(r->id, e.request.id));
    simdjson::dom::element error;
    bool has_error = file["response"]["error"].get(error) == simdjson::SUCCESS;
    EXPECT_EQ(r->is_error, has_error);
    if (has_error) {
        EXPECT_EQ(r->error_code, int64_t(error["code"]));
    } else {
        EXPECT_EQ(minify(r->result), simdjson::minify(file["response"]["result"]));
    }
}

TEST(Testdata, BesuRequestResponsePairs) {
    RequestParser requests(16, 8 << 20);
    ResponseParser responses(16, 8 << 20);
    size_t checked = 0;
    for (const char* fork : {"paris", "shanghai", "cancun", "prague", "osaka"}) {
        for (const std::string& path : json_files(
                 test::testdata_path(std::string("engine/besu-engine/") + fork + "/test-cases"))) {
            check_pair(requests, responses, path, &checked);
        }
    }
    EXPECT_GT(checked, 50u);
}

TEST(Testdata, CapturedTraffic) {
    RequestParser requests(16, 8 << 20);
    ResponseParser responses(16, 8 << 20);
    auto files = json_files(test::testdata_path("captures"));
    size_t checked = 0;
    for (const std::string& path : files) check_pair(requests, responses, path, &checked);
    EXPECT_GT(checked, 10u);
}

}  // namespace
}  // namespace em::jsonrpc
