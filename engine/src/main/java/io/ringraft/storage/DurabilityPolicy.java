package io.ringraft.storage;

/** How far a log pushes appended entries before it reports them durable. */
public enum DurabilityPolicy
{
    /** Page cache only: survives a process crash, not a machine crash or power loss. */
    NONE,
    /** One sync per group-commit batch ({@link RaftLogStorage#flush()}): survives power loss. */
    BATCH,
    /** A sync for every appended entry: survives power loss, at the cost of a sync per entry. */
    ALWAYS
}
