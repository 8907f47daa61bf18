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
    function claim(address device, Claim[] calldata claims) external returns (uint256 total) {
        if (device == address(0)) revert ZeroAddress();
        uint64[] memory rounds;
        (total, rounds) = _redeem(device, claims);
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

    function _redeem(address device, Claim[] calldata claims) private returns (uint256 total, uint64[] memory rounds) {
        uint256 n = claims.length;
        if (n == 0) revert NoClaims();
        if (n > MAX_CLAIMS) revert TooManyClaims(n, MAX_CLAIMS);
        rounds = new uint64[](n);
        for (uint256 i = 0; i < n; ++i) {
            Claim calldata c = claims[i];
            bytes32 root = ledger.rootOf(c.round);
            if (root == bytes32(0)) revert RoundNotSettled(c.round);
            _redeemOne(device, c, root);
            rounds[i] = c.round;
            total += c.score;
        }
    }

    function _redeemOne(address device, Claim calldata c, bytes32 root) private {
        // StandardMerkleTree leaf: keccak256(bytes.concat(keccak256(abi.encode(...)))).
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(c.round, device, c.attestationHash, c.score))));
        if (!MerkleProof.verifyCalldata(c.proof, root, leaf)) revert InvalidProof(c.round, device);
        uint256 word = c.round >> 8;
        uint256 bit = uint256(1) << (c.round & 0xff);
        uint256 bits = _claimed[device][word];
        if (bits & bit != 0) revert AlreadyClaimed(c.round, device);
        _claimed[device][word] = bits | bit;
    }
}
