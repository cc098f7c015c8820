package io.ringraft.testkit.history;

/**
 * The operations a client can run against one key of the replicated key-value store.
 * The model each key follows is a register, initially absent.
 */
public enum OpKind
{
    /** Sets the key to a value. */
    PUT,

    /** Reads the key's current value, or absent. */
    GET,

    /** Sets the key to a new value only if its current value equals an expected one (absent included). */
    CAS,

    /** Makes the key absent. */
    DELETE
}
