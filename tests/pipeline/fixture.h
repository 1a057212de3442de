// Test fixture for the pipeline's calls and core: a node table the test sets, the mux policy,
// parsers and counters, and helpers that build node replies with the padding simdjson needs.
// Test code: allocation is fine.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <deque>
#include <string>
#include <vector>

#include "engine/methods.h"
#include "pipeline/fanout.h"
#include "pipeline/mux_policy.h"

namespace em::pipeline::test {

/// A node table the test writes directly.
struct FakeNodes final : NodeTable {
    std::array<NodeView, nodes_max> views{};
    int primary_index = 0;
    NodeView node(size_t i) const override { return views[i]; }
    int primary() const override { return primary_index; }
    void set(size_t i, bool voter, Health health = Health::synced, uint64_t latency_us = 100) {
        static const char* const names[] = {"el0",  "el1",  "el2",  "el3", "el4",  "el5",
                                            "el6",  "el7",  "el8",  "el9", "el10", "el11",
                                            "el12", "el13", "el14", "el15"};
        views[i] = NodeView{};
        views[i].present = true;
        views[i].voter = voter;
        views[i].health = health;
        views[i].latency_ewma_us = latency_us;
        views[i].name = names[i];
    }
};

inline const engine::MethodInfo& method(std::string_view name) {
    const engine::MethodInfo* m = engine::find_method(name);
    EXPECT_NE(m, nullptr) << name;
    return *m;
}

/// Bodies and errors that outlive the reply event (NodeReply holds views).
struct ReplyStore {
    std::deque<std::string> bodies;
    std::deque<Error> errors;
    NodeReply answer(size_t node, std::string body, int status = 200, uint64_t sent_ns = 1) {
        body.reserve(body.size() + 64);  // simdjson reads up to 64 bytes past the end
        bodies.push_back(std::move(body));
        NodeReply r;
        r.node = node;
        r.sent_ns = sent_ns;
        r.http_status = status;
        r.body = bodies.back();
        return r;
    }
    NodeReply failure(size_t node, Errc code, const char* text, uint64_t sent_ns = 1) {
        errors.emplace_back(code, text);
        NodeReply r;
        r.node = node;
        r.sent_ns = sent_ns;
        r.error = &errors.back();
        return r;
    }
};

struct PipelineFixture : ::testing::Test {
    ShardMetrics metrics;
    FakeNodes nodes;
    MuxPolicy policy{MuxPolicyConfig{engine::Quorum{}, true, 0}};
    jsonrpc::ResponseParser responses{jsonrpc::Limits{}};
    simdjson::ondemand::parser answers;
    std::array<bool, nodes_max> suspect{};
    std::unique_ptr<engine::PayloadIdMap> ids = [] {
        engine::PayloadIdMap::Config c;
        c.capacity = 8;
        c.lifetime_ns = 36'000'000'000ull;
        return std::move(*engine::PayloadIdMap::create(c));
    }();
    CallEnv env{metrics, policy, nodes, responses, answers, suspect, ids.get(), 1 << 20};
    ReplyStore store;
    Actions out;

    /// The actions of the last event as one line: "send 0 ordered, send 1, answer 200 {...}".
    std::string described() const {
        std::string s;
        for (const Action& a : out.view()) {
            if (!s.empty()) s += ", ";
            switch (a.kind) {
                case Action::Kind::send:
                    s += "send " + std::to_string(a.node) + (a.ordered ? " ordered" : "");
                    break;
                case Action::Kind::answer:
                    s += "answer " + std::to_string(a.http_status) + " " + std::string(a.bytes);
                    break;
                case Action::Kind::node_failed:
                    s += "node_failed " + std::to_string(a.node);
                    break;
                case Action::Kind::disagreement:
                    s += "disagreement";
                    break;
                case Action::Kind::learned:
                    s += "learned " + std::to_string(a.node);
                    break;
                case Action::Kind::wake:
                    s += "wake " + std::to_string(a.deadline_ns);
                    break;
                case Action::Kind::served:
                    s += "served " + std::to_string(a.node);
                    break;
            }
        }
        return s;
    }
    /// The answer of the last event ("" if none).
    std::string answer() const {
        for (const Action& a : out.view()) {
            if (a.kind == Action::Kind::answer) return std::string(a.bytes);
        }
        return {};
    }
};

inline std::string status_result(const char* id, const char* status, const char* lvh = nullptr) {
    std::string h = lvh ? std::string("\"") + lvh + "\"" : "null";
    return std::string("{\"jsonrpc\":\"2.0\",\"id\":") + id + ",\"result\":{\"status\":\"" +
           status + "\",\"latestValidHash\":" + h + ",\"validationError\":null}}";
}

inline const char* hash_a() {
    return "0x1111111111111111111111111111111111111111111111111111111111111111";
}

}  // namespace em::pipeline::test
