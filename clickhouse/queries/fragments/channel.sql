-- fragment channel: the channel of a visit, an expression over the sessions columns channel,
-- referrer_host and site (issue 17 item 2). The stored channel (core/channels.toml), except
-- that a referral from a host of a site of the same agency tree as the visited site is
-- 'internal': decided here, at query time, because the tree can change (README "Channels").
-- Params: ch_sites Array(String), ch_site_roots Array(String) (each selected site and the root
--   agency of its tree; a site in no tree is left out), ch_hosts Array(String), ch_host_roots
--   Array(String) (every domain of a registered site, without www., and its root agency).
--   Empty arrays: no visit is internal.
if(channel = 'referral'
       AND transform(toString(referrer_host), {ch_hosts:Array(String)}, {ch_host_roots:Array(String)}, '')
           = transform(toString(site), {ch_sites:Array(String)}, {ch_site_roots:Array(String)}, '-'),
   'internal', toString(channel))
