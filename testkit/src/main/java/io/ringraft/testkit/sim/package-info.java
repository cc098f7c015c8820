/**
 * The deterministic simulator: Raft nodes on a simulated network in one thread and simulated
 * time, every choice drawn from one seed (TigerBeetle / FoundationDB style).
 * <ul>
 *     <li>{@link io.ringraft.testkit.sim.SimCluster}: the harness tests drive by hand (partitions,
 *         one-way cuts, message filters and holds, crashes that lose unflushed log entries,
 *         restarts, snapshots, leader transfer, membership changes, clients, metrics), with
 *         Raft's invariants checked by the {@link io.ringraft.testkit.sim.InvariantChecker} after
 *         every event;</li>
 *     <li>{@link io.ringraft.testkit.sim.Simulation}: one randomized run per seed (chaos phase,
 *         quiet phase, liveness and linearizability checks), replayable from its seed;</li>
 *     <li>{@link io.ringraft.testkit.sim.SimulatorMain}: many seeds from the command line.</li>
 * </ul>
 * A node is a {@link io.ringraft.testkit.sim.SimNode}; {@link io.ringraft.testkit.sim.EngineSimNode}
 * drives the bare engine through its output port, and {@link io.ringraft.testkit.sim.RuntimeSimNode} runs
 * the real runtime ({@code Raft} with {@code RaftCore} in INVOKER mode, on the simulated clock and
 * network: {@code SimCluster.builder().runtime(true)}, {@code -Dringraft.sim.runtime=true}); both log
 * to a {@link io.ringraft.testkit.sim.SimLogStorage} that keeps a durable image beside the current one.
 */
package io.ringraft.testkit.sim;
