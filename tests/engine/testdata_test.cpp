// Real EL answers from ../shared/testdata (Besu acceptance tests): every newPayload and
// forkchoiceUpdated result parses, re-serialises and parses back to the same value.
#include <gtest/gtest.h>

#include <dirent.h>

#include <string>
#include <vector>

#include <simdjson.h>

#include "common/testdata.h"
#include "engine/methods.h"
#include "engine/payload_status.h"

namespace em::engine {
namespace {

std::vector<std::string> case_files() {
    std::vector<std::string> out;
    std::string root = test::testdata_path("engine/besu-engine");
    for (const char* fork : {"paris", "shanghai", "cancun", "prague", "osaka"}) {
        std::vector<std::string> dirs = {root + "/" + fork + "/test-cases"};
        while (!dirs.empty()) {
            std::string dir = dirs.back();
            dirs.pop_back();
            DIR* d = opendir(dir.c_str());
            if (!d) continue;
            while (dirent* e = readdir(d)) {
                std::string name = e->d_name;
                if (name == "." || name == "..") continue;
                std::string path = dir + "/" + name;
                if (name.size() > 5 && name.substr(name.size() - 5) == ".json") {
                    out.push_back(path);
                } else if (e->d_type == DT_DIR) {
                    dirs.push_back(path);
                }
            }
            closedir(d);
        }
    }
    return out;
}

bool same(const PayloadStatus& a, const PayloadStatus& b) {
    return a.status == b.status && a.has_latest_valid_hash == b.has_latest_valid_hash &&
           a.latest_valid_hash == b.latest_valid_hash &&
           a.validation_error_json == b.validation_error_json;
}

TEST(EngineTestdata, BesuAnswersParseAndRoundTrip) {
    simdjson::dom::parser dom;
    simdjson::ondemand::parser parser;
    int new_payload = 0, forkchoice = 0;
    for (const auto& path : case_files()) {
        std::string text = test::read_file(path);
        simdjson::dom::element root;
        ASSERT_EQ(dom.parse(text).get(root), simdjson::SUCCESS) << path;
        std::string_view method;
        if (root["request"]["method"].get(method)) continue;
        const MethodInfo* m = find_method(method);
        simdjson::dom::element result;
        if (!m || root["response"]["result"].get(result)) continue;
        simdjson::padded_string json(simdjson::minify(result));
        ByteBuffer out(1 << 16);
        if (m->kind == MethodKind::new_payload) {
            auto s = parse_payload_status(parser, json, m->status_schema);
            ASSERT_TRUE(s) << path << ": " << s.error().message();
            ASSERT_TRUE(write_payload_status(out, *s, m->status_schema));
            simdjson::padded_string again(out.view());
            simdjson::ondemand::parser parser2;
            auto back = parse_payload_status(parser2, again, m->status_schema);
            ASSERT_TRUE(back) << path;
            EXPECT_TRUE(same(*s, *back)) << path;
            new_payload++;
        } else if (m->kind == MethodKind::forkchoice_updated) {
            auto f = parse_forkchoice_updated(parser, json, m->status_schema);
            ASSERT_TRUE(f) << path << ": " << f.error().message();
            ASSERT_TRUE(write_forkchoice_updated(out, f->payload_status, m->status_schema,
                                                 f->has_payload_id ? &f->payload_id : nullptr));
            EXPECT_EQ(out.view(), std::string_view(json.data(), json.size())) << path;
            forkchoice++;
        }
    }
    EXPECT_GE(new_payload, 8);
    EXPECT_GE(forkchoice, 10);
}

}  // namespace
}  // namespace em::engine
