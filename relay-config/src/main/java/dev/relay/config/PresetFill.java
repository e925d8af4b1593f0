package dev.relay.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One upstream's values after its {@code provider} preset filled what was not set explicitly: an explicit key
 * always wins. Without a preset the values pass through unchanged. Which keys the preset filled is kept for
 * {@code relay check-config}. A region that does not fit leaves the url unset; {@link UpstreamChecks} says why.
 */
final class PresetFill {
    final ProviderPreset preset;
    final String region;
    final UpstreamUrl url;
    final String username;
    final TlsMode tls;
    final UpstreamAuth auth;
    final Double perSecond;
    final Long perDay;
    final List<String> filled = new ArrayList<>();

    PresetFill(ProviderPreset preset, String region, UpstreamUrl url, String username, TlsMode tls,
               UpstreamAuth auth, boolean hasOAuth2, Double perSecond, Long perDay) {
        this.preset = preset;
        this.region = region == null || region.isBlank() ? null : region.trim().toLowerCase(Locale.ROOT);
        if (preset == null) {
            this.url = url;
            this.username = username;
            this.tls = tls;
            this.auth = auth;
            this.perSecond = perSecond;
            this.perDay = perDay;
            return;
        }
        UpstreamUrl presetUrl = url == null ? preset.url(this.region) : null;
        this.url = url != null ? url : fill("url", presetUrl);
        this.tls = tls != null || presetUrl == null ? tls : fill("tls", presetUrl.defaultTls());
        this.username = username != null || (url != null && url.username() != null) ? username
                : fill("username", preset.username());
        this.auth = auth != null || !hasOAuth2 || !preset.xoauth2() ? auth : fill("auth", UpstreamAuth.XOAUTH2);
        double s = preset.rate().perSecond();
        long d = preset.rate().perDay();
        this.perSecond = perSecond != null || s == 0 ? perSecond : fill("rate.per-second", s);
        this.perDay = perDay != null || d == 0 ? perDay : fill("rate.per-day", d);
    }

    private <T> T fill(String key, T value) {
        if (value != null) {
            filled.add(key);
        }
        return value;
    }
}
