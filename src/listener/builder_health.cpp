#include "listener/builder_health.h"

#include <array>

namespace em::listener {

engine::HealthVerdict builder_health(const pipeline::BuilderShared& shared,
                                     const upstream::HealthBoard& board, uint64_t now_ns) {
    size_t local_slot = shared.config().local;
    std::array<upstream::NodeHealth, upstream::nodes_max> health;
    std::array<engine::NodeFreshness, upstream::nodes_max> builders;
    engine::NodeFreshness local;
    size_t count = 0;
    for (size_t i = 0; i < upstream::nodes_max; i++) {
        health[i] = board.read(i);
        if (!health[i].present) continue;
        engine::NodeFreshness f;
        f.name = health[i].name_text();
        f.present = true;
        uint64_t answered = shared.answered_ns(i);
        f.good_ns = answered > health[i].ok_ns ? answered : health[i].ok_ns;
        f.failing = health[i].state == upstream::NodeState::dead;
        if (i == local_slot) {
            local = f;
            continue;
        }
        f.benched = shared.benched(i);
        builders[count++] = f;
    }
    uint64_t max_unsafe_ns = uint64_t{shared.config().max_unsafe_interval_s} * 1'000'000'000ull;
    return engine::judge_builder_health(shared.mode(), now_ns, max_unsafe_ns, local,
                                        std::span(builders.data(), count));
}

}  // namespace em::listener
