/**
 * The replicated key-value store the simulator and examples run: commands
 * ({@link io.ringraft.testkit.kv.KvCommand}) and the state machine
 * ({@link io.ringraft.testkit.kv.KvStateMachine}) whose results the linearizability checker
 * judges.
 */
package io.ringraft.testkit.kv;
