package io.ringraft.service;

/** Why a client session closed. */
public enum CloseReason
{
    /** The client closed it. */
    CLIENT,
    /** The cluster time passed its last activity by the session timeout. */
    TIMEOUT
}
