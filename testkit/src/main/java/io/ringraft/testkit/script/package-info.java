/**
 * Scenario scripts: a Raft scenario as a text file of steps with their expected output, run exactly on the
 * simulator (bare engine or real runtime); see {@link io.ringraft.testkit.script.Scenario}.
 */
package io.ringraft.testkit.script;
