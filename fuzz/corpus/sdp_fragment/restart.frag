a=ice-ufrag:efgh
a=ice-pwd:zyxwvutsrqponmlkjihgfedc
