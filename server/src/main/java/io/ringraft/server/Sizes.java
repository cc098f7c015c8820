package io.ringraft.server;

import java.util.Locale;

/** Parses the sizes ("64k", "1m") and durations ("10s", "500ms") of configuration files and flags. */
final class Sizes
{
    private Sizes()
    {
    }

    /**
     * @param text a number with an optional k, m or g suffix (powers of 1024)
     * @return its value
     * @throws NumberFormatException if it does not parse
     */
    static long parse(final String text)
    {
        final String t = text.trim().toLowerCase(Locale.ROOT);
        if (t.isEmpty())
        {
            throw new NumberFormatException("empty");
        }
        final char last = t.charAt(t.length() - 1);
        final long unit = last == 'k' ? 1024L : last == 'm' ? 1024L * 1024 : last == 'g' ? 1024L * 1024 * 1024 : 1;
        final String digits = unit == 1 ? t : t.substring(0, t.length() - 1);
        return Math.multiplyExact(Long.parseLong(digits.trim()), unit);
    }

    /**
     * @param text a duration: a number with ms, s or m (plain numbers are seconds)
     * @return it in milliseconds
     * @throws NumberFormatException if it does not parse
     */
    static long parseDurationMs(final String text)
    {
        final String t = text.trim().toLowerCase(Locale.ROOT);
        if (t.endsWith("ms"))
        {
            return Long.parseLong(t.substring(0, t.length() - 2).trim());
        }
        if (t.endsWith("s"))
        {
            return Math.round(Double.parseDouble(t.substring(0, t.length() - 1).trim()) * 1000);
        }
        if (t.endsWith("m"))
        {
            return Math.round(Double.parseDouble(t.substring(0, t.length() - 1).trim()) * 60_000);
        }
        return Math.round(Double.parseDouble(t) * 1000);
    }
}
