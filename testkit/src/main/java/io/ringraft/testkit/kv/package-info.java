/**
 * The commands ({@link io.ringraft.testkit.kv.KvCommand}) of the replicated key-value store the
 * simulator runs on the engine's {@link io.ringraft.statemachine.KvStateMachine}, whose results the
 * linearizability checker judges.
 */
package io.ringraft.testkit.kv;
