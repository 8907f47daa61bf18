// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {RoundLedger} from "./RoundLedger.sol";

/// @title Rewards
/// @notice The fleet's ERC-20 reward token and its claims. A contribution leaf
/// (round uint64, device address, attestationHash bytes32, score uint256), in OpenZeppelin's
/// StandardMerkleTree encoding, entitles `device` to `score` tokens (in the token's smallest
/// unit) for that round; claims mint them. Each leaf pays once: to its device, or after the
/// configured expiry to the owner's sweep.
/// @dev The claimed bitmap is per device, one bit per round (256 rounds a word), so claiming
/// several rounds in one transaction touches one word.
contract Rewards is ERC20, Ownable {
    struct Claim {
        uint64 round;
        bytes32 attestationHash;
        uint256 score;
        bytes32[] proof;
    }

    uint256 public constant MAX_CLAIMS = 256;

    RoundLedger public immutable ledger;
    /// Seconds after a round's settlement from which the owner may sweep its unclaimed leaves.
    uint64 public immutable claimExpiry;

    mapping(address device => mapping(uint256 word => uint256)) private _claimed;

    /// One event per claim transaction: the rounds claimed and the total minted to the device.
    event Claimed(address indexed device, uint64[] rounds, uint256 amount);
    event Swept(address indexed device, uint64 indexed round, uint256 amount, address to);

    error ZeroAddress();
    error NoClaims();
    error TooManyClaims(uint256 count, uint256 max);
    error LengthMismatch(uint256 devices, uint256 claims);
    error RoundNotSettled(uint64 round);
    error InvalidProof(uint64 round, address device);
    error AlreadyClaimed(uint64 round, address device);
    error ClaimNotExpired(uint64 round, uint256 expiresAt);

    constructor(RoundLedger ledger_, address owner_, uint64 claimExpiry_, string memory name_, string memory symbol_)
        ERC20(name_, symbol_)
        Ownable(owner_)
    {
        ledger = ledger_;
        claimExpiry = claimExpiry_;
    }

    /// @notice Claims `device`'s rewards for several rounds in one transaction. Anyone may
    /// submit it; the tokens always go to `device`.
    /// @dev Gas: one call to the ledger for every round's root, and each claimed-bitmap word is
    /// read and written once however many of its rounds the transaction claims.
    function claim(address device, Claim[] calldata claims) external returns (uint256 total) {
        if (device == address(0)) revert ZeroAddress();
        uint256 n = claims.length;
        if (n == 0) revert NoClaims();
        if (n > MAX_CLAIMS) revert TooManyClaims(n, MAX_CLAIMS);
        uint64[] memory rounds = new uint64[](n);
        for (uint256 i = 0; i < n; ) {
            rounds[i] = claims[i].round;
            unchecked {
                ++i;
            }
        }
        bytes32[] memory roots = ledger.rootsOf(rounds);
        mapping(uint256 word => uint256) storage claimed = _claimed[device];
        // No round reaches this word (rounds are uint64), so the first claim always loads its own.
        uint256 word = type(uint256).max;
        uint256 bits;
        for (uint256 i = 0; i < n; ) {
            Claim calldata c = claims[i];
            uint64 round = rounds[i];
            bytes32 root = roots[i];
            if (root == bytes32(0)) revert RoundNotSettled(round);
            if (!MerkleProof.verifyCalldata(c.proof, root, _leaf(round, device, c.attestationHash, c.score))) revert InvalidProof(round, device);
            uint256 w = round >> 8;
            if (w != word) {
                if (word != type(uint256).max) claimed[word] = bits;
                word = w;
                bits = claimed[w];
            }
            uint256 bit = uint256(1) << (round & 0xff);
            if (bits & bit != 0) revert AlreadyClaimed(round, device);
            bits |= bit;
            total += c.score;
            unchecked {
                ++i;
            }
        }
        claimed[word] = bits;
        _mint(device, total);
        emit Claimed(device, rounds, total);
    }

    /// @notice After `claimExpiry`, the owner takes the unclaimed leaves of a round. Each leaf
    /// is proven like a claim and marked claimed.
    function sweep(address to, address[] calldata devices, Claim[] calldata claims) external onlyOwner returns (uint256 total) {
        if (to == address(0)) revert ZeroAddress();
        if (devices.length != claims.length) revert LengthMismatch(devices.length, claims.length);
        if (claims.length > MAX_CLAIMS) revert TooManyClaims(claims.length, MAX_CLAIMS);
        for (uint256 i = 0; i < claims.length; ++i) {
            Claim calldata c = claims[i];
            RoundLedger.Settlement memory s = ledger.settlementOf(c.round);
            if (s.settledAt == 0) revert RoundNotSettled(c.round);
            uint256 expiresAt = uint256(s.settledAt) + claimExpiry;
            if (block.timestamp < expiresAt) revert ClaimNotExpired(c.round, expiresAt);
            _redeemOne(devices[i], c, s.contributionsRoot);
            emit Swept(devices[i], c.round, c.score, to);
            total += c.score;
        }
        _mint(to, total);
    }

    /// @notice True when `device`'s leaf of `round` has been claimed or swept.
    function isClaimed(address device, uint64 round) external view returns (bool) {
        return (_claimed[device][round >> 8] >> (round & 0xff)) & 1 == 1;
    }

    function _redeemOne(address device, Claim calldata c, bytes32 root) private {
        if (!MerkleProof.verifyCalldata(c.proof, root, _leaf(c.round, device, c.attestationHash, c.score))) revert InvalidProof(c.round, device);
        uint256 word = c.round >> 8;
        uint256 bit = uint256(1) << (c.round & 0xff);
        uint256 bits = _claimed[device][word];
        if (bits & bit != 0) revert AlreadyClaimed(c.round, device);
        _claimed[device][word] = bits | bit;
    }

    /// StandardMerkleTree's leaf, keccak256(bytes.concat(keccak256(abi.encode(round, device,
    /// attestationHash, score)))), hashed in scratch memory rather than an allocated copy.
    function _leaf(uint64 round, address device, bytes32 attestationHash, uint256 score) private pure returns (bytes32 leaf) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, round)
            mstore(add(p, 0x20), device)
            mstore(add(p, 0x40), attestationHash)
            mstore(add(p, 0x60), score)
            mstore(0x00, keccak256(p, 0x80))
            leaf := keccak256(0x00, 0x20)
        }
    }
}
