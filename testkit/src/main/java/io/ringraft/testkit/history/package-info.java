/**
 * Client histories against the replicated key-value store and a linearizability checker for them.
 * <p>
 * A simulated run records every client operation in a {@link io.ringraft.testkit.history.History}
 * (invocation, then completion as ok, failed or unknown) and hands it to
 * {@link io.ringraft.testkit.history.LinearizabilityChecker#check}, which decides, key by key,
 * whether some sequential order of the operations respects both real time and register semantics.
 */
package io.ringraft.testkit.history;
