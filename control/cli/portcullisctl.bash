# bash completion for portcullisctl (installed as
# $datadir/bash-completion/completions/portcullisctl).
# Subcommands and options are static lists; tunnel names come from the
# running daemon through `portcullisctl --json tunnel list`, quietly: no
# daemon, no names.

_portcullisctl_tunnels() {
    local sock=()
    [[ -n $1 ]] && sock=(--socket "$1")
    portcullisctl "${sock[@]}" --json tunnel list 2>/dev/null |
        sed -n 's/^ *"name": *"\([^"]*\)".*/\1/p'
}

# The IKEv2 tunnels only (for `ike show`): each tunnel is one object of
# the pretty-printed array, its fields four spaces in.
_portcullisctl_ike_tunnels() {
    local sock=()
    [[ -n $1 ]] && sock=(--socket "$1")
    portcullisctl "${sock[@]}" --json tunnel list 2>/dev/null | awk '
        /^  \{/ { name = ""; ike = 0 }
        /^    "keying": *"ikev2"/ { ike = 1 }
        /^    "name":/ { name = $0; sub(/^ *"name": *"/, "", name); sub(/".*/, "", name) }
        /^  \}/ { if (ike && name != "") print name }'
}

_portcullisctl() {
    local cur prev
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD-1]}

    local globals="--json --socket --help --version"

    # Find the command words so far, skipping options and their values.
    local words=() sock="" i w
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        case $w in
            --socket) sock=${COMP_WORDS[i+1]}; ((i++)) ;;
            --local|--remote|--local-ts|--remote-ts|--esp|--mode|--udp-port|--replay-window|\
            --keying|--spi-out|--spi-in|--key-out|--key-in|--auth-key-out|--auth-key-in|\
            --soft-seconds|--hard-seconds|--soft-bytes|--hard-bytes|--soft-packets|\
            --hard-packets|--ike-auth|--psk-file|--certificate|--private-key|--ca|\
            --local-id|--remote-id|--proposal|--ike-lifetime|\
            --via|--port|--interval|-i|--filter|-f|--last|-n) ((i++)) ;;
            -*) ;;
            *) words+=("$w") ;;
        esac
    done

    # Values of options.
    case $prev in
        --socket|--key-out|--key-in|--auth-key-out|--auth-key-in|--psk-file|--certificate|\
        --private-key|--ca)
            COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --ike-auth) COMPREPLY=($(compgen -W "ecdsa psk ed25519" -- "$cur")); return ;;
        --proposal)
            COMPREPLY=($(compgen -W "aes128gcm16-prfsha256-ecp256 aes256gcm16-prfsha384-ecp384
                chacha20poly1305-prfsha256-curve25519" -- "$cur")); return ;;
        --mode) COMPREPLY=($(compgen -W "tunnel transport" -- "$cur")); return ;;
        --keying) COMPREPLY=($(compgen -W "manual ikev2" -- "$cur")); return ;;
        --esp)
            COMPREPLY=($(compgen -W "aes128gcm16 aes256gcm16 chacha20poly1305 aes128cbc-sha256
                aes128cbc-sha384 aes128cbc-sha512 aes256cbc-sha256 aes256cbc-sha384
                aes256cbc-sha512" -- "$cur")); return ;;
        --local|--remote|--local-ts|--remote-ts|--udp-port|--replay-window|--spi-out|\
        --spi-in|--soft-*|--hard-*|--local-id|--remote-id|--ike-lifetime|--via|--port|\
        --interval|-i|--filter|-f|--last|-n)
            return ;;
    esac

    local words_n=${#words[@]}
    local cmd=${words[0]} sub=${words[1]}
    local list=""
    case $words_n in
        0) list="status tunnel ike sa policy route port stats events config $globals" ;;
        1)
            case $cmd in
                tunnel) list="list show add del up down rekey" ;;
                ike) list="list show" ;;
                sa) list="list show" ;;
                policy|port) list="list" ;;
                route) list="list add del" ;;
                config) list="check reload save" ;;
                stats) list="--watch --interval --filter --all" ;;
                events) list="--no-follow --last" ;;
            esac
            list+=" $globals" ;;
        *)
            case $cmd/$sub in
                tunnel/show|tunnel/del|tunnel/up|tunnel/down|tunnel/rekey)
                    if ((words_n == 2)) && [[ $cur != -* ]]; then
                        COMPREPLY=($(compgen -W "$(_portcullisctl_tunnels "$sock")" -- "$cur"))
                        return
                    fi
                    [[ $sub == rekey ]] && list="--ike" ;;
                ike/show)
                    if ((words_n == 2)) && [[ $cur != -* ]]; then
                        COMPREPLY=($(compgen -W "$(_portcullisctl_ike_tunnels "$sock")" -- "$cur"))
                        return
                    fi ;;
                tunnel/add)
                    list="--local --remote --local-ts --remote-ts --esp --mode --udp-encap
                        --udp-port --no-esn --replay-window --no-anti-replay
                        --allow-no-anti-replay --disabled --keying --spi-out --spi-in --key-out
                        --key-in --auth-key-out --auth-key-in --soft-seconds --hard-seconds
                        --soft-bytes --hard-bytes --soft-packets --hard-packets --ike-auth
                        --psk-file --certificate --private-key --ca --local-id --remote-id
                        --proposal --initiate --no-initiate --passive --ike-lifetime" ;;
                route/add) list="--via --port" ;;
                config/check|config/save)
                    if [[ $cur != -* ]]; then
                        COMPREPLY=($(compgen -f -- "$cur")); return
                    fi ;;
                stats/*) list="--watch --interval --filter --all" ;;
                events/*) list="--no-follow --last" ;;
            esac
            list+=" $globals" ;;
    esac
    COMPREPLY=($(compgen -W "$list" -- "$cur"))
}

complete -F _portcullisctl portcullisctl
