a=ice-ufrag:abcd
a=ice-pwd:0123456789abcdef0123456789
m=audio 9 UDP/TLS/RTP/SAVPF 111
a=mid:0
a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host
a=candidate:2 1 tcp 1518280447 192.168.1.4 9 typ host tcptype active
a=end-of-candidates
